"""The composition layer's pages: home and health checks, dashboard, exception queue, exports, stored files,
audit panels, webhook and API-token settings, MFA and SSO; one module per page family, routed by psa/web/urls.py."""
