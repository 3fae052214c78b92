"""NumPy quickstart-style Flower App that server.jar serves to Python SuperNodes."""
