"""Billing pages: runs, invoices, payments, AR, the client portal and the fragments other apps embed."""
