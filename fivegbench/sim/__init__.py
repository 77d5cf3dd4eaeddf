"""The simulated bench: real servers (SCPI over TCP, a console on a pty or socket) behind one
physical world model."""
