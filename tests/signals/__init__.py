"""Test-signal generators written from the standards, independent of the reducers' own code."""
