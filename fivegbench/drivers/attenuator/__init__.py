"""Programmable step attenuators (the UE/traffic path of the bench)."""
