"""Spectrum-analyzer drivers."""
