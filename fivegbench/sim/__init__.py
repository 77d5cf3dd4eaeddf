"""The simulated bench: real servers (SCPI over TCP, a console on a pty or socket) behind one
physical world model."""

CAVEATS: tuple[str, ...] = (
    "every RF reading comes from one synthesized NR-FR1 test-model frame (sim/waveform.py): no SSB, "
    "CSI-RS or PT-RS; random PDSCH/PDCCH payload instead of the PN23 sequence of TS 38.141-1 §4.9.2.3",
    "PA: Rapp AM/AM (p = 3, 53 dBm saturation), no AM/PM, DPD or CFR [U: model assumption]",
    "gNB impairments: DAC noise -50 dBc, phase noise 0.2 deg rms with a 300 kHz corner, PA noise "
    "floor -145 dBc/Hz, reference oscillator 0.01 ppm off [U: model assumptions]",
    "analyzers: DANL -152 dBm/Hz at 0 dB attenuation, ADC full scale 3 dB above the reference level, "
    "I/Q flat over 80 % of the sample rate [U: model assumptions]",
)
"""What a run on the simulated bench must say about the simulation (kept in its record)."""
