# How a host enables the sandbox's fixtures in its own tests.
pytest_plugins = ["sandbox.pytest_plugin"]
