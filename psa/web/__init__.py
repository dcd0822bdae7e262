"""The composition layer: home pages, navigation, health checks and the API root. It may import every app."""
