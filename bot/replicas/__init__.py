"""Running as several replicas: recovering the questions of dead ones, and relaying Stop
clicks to the replica that writes the answer."""
