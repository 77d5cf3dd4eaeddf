"""3GPP and ITU tables and formulas, each citing its clause."""
