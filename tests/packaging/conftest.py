# The host project under hostproject/ is a separate Django project with its own pytest.ini and
# conftest: test_wheel_host.py runs its tests in a fresh virtualenv against the installed wheel.
# The outer suite must not collect them (they would run against the demo's settings).
collect_ignore = ["hostproject"]
