"""One module per measurement kind: drive the instruments, return captures and reduced values."""
