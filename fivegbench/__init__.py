"""fivegbench: measurement harness and lab controller for 5G base-station trials."""

__version__ = "0.1.0"
