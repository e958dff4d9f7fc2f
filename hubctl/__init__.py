"""hubctl: the program managers' admin client."""
