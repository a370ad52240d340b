"""expt: record every machine-learning experiment (Sacred-compatible)."""
