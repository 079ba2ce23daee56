"""chronos_data: every byte Chronos keeps, in PostgreSQL. No UI code lives here."""
