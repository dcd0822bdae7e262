"""crm pages: pipeline board and list, opportunity pages, accounts, forecast, demand and CSV import."""
