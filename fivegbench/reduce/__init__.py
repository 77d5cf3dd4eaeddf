"""Reducers: pure numpy functions that turn raw instrument traces into measured values.

Each reducer takes arrays and plain floats (SI units: Hz, dBm) and returns floats or frozen
dataclasses; none touches an instrument, a file or global state.

* :mod:`fivegbench.reduce.power` -- integrated channel power of a swept-analyzer trace.
* :mod:`fivegbench.reduce.aclr` -- NR adjacent channel leakage ratio (TS 38.104 §6.6.3).

The functions are deliberately not re-exported here: ``fivegbench.reduce.aclr`` must stay the
module (re-exporting the function of the same name would shadow it).
"""
