"""Instrument drivers: one class per instrument family; constructors do no I/O."""
