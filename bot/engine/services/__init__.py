"""Domain services: what Indaba does, in the CoP's words, independent of any platform."""
