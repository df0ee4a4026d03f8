import subprocess
import sys

FORBIDDEN = ("kafka", "faust", "influxdb_client", "httpx", "aiokafka", "requests", "grafana_client")


def test_gait_package_imports_no_io_service_library():
    code = (
        "import sys, gaitstream.gait.engine, gaitstream.gait.offline, gaitstream.gait.cli, "
        "gaitstream.gait.classification, gaitstream.gait.recording; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
