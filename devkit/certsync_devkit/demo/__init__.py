"""`make demo`: show netscaler-certsync working against a simulated (or real) NetScaler."""
