"""The terminal: a spinner only on a terminal, colour only without NO_COLOR, plain lines elsewhere."""

from __future__ import annotations

import io
import re
import time

import pytest

from sparkhelm.cli.progress import Waiting, colour_wanted, spinner_wanted

COLOUR = re.compile(r"\x1b\[(3\d|9\d|1;3\d)m")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def waited(stream: io.StringIO, environ: dict[str, str], *, spinner: bool = True) -> str:
    with Waiting("waiting for pi-1", spinner=spinner, stream=stream, environ=environ) as waiting:
        time.sleep(0.25)
        waiting.notice("driver pi-1-driver: Running")
        time.sleep(0.25)
        waiting.notice("driver pi-1-driver: Succeeded")
    return stream.getvalue()


def test_a_terminal_gets_a_spinner_in_colour() -> None:
    out = waited(Terminal(), {"TERM": "xterm-256color"})
    assert "⠋" in out and "waiting for pi-1: driver pi-1-driver: Running (0m00s)" in out
    assert "driver pi-1-driver: Succeeded\n" in out and COLOUR.search(out)


def test_no_color_keeps_the_spinner_without_colour() -> None:
    out = waited(Terminal(), {"TERM": "xterm", "NO_COLOR": ""})
    assert "⠋" in out and not COLOUR.search(out)


@pytest.mark.parametrize(("stream", "environ", "spinner"), [
    (io.StringIO(), {"TERM": "xterm"}, True),  # a pipe, a file, CI
    (Terminal(), {"TERM": "dumb"}, True),
    (Terminal(), {"TERM": "xterm"}, False),  # run --logs: the log has the terminal
], ids=["not-a-tty", "dumb-terminal", "spinner-off"])
def test_elsewhere_only_plain_lines(stream: io.StringIO, environ: dict[str, str], spinner: bool) -> None:
    assert waited(stream, environ, spinner=spinner) == "driver pi-1-driver: Running\ndriver pi-1-driver: Succeeded\n"


def test_the_rules() -> None:
    assert spinner_wanted(Terminal(), {}) and colour_wanted(Terminal(), {})
    assert not colour_wanted(Terminal(), {"NO_COLOR": "1"}) and spinner_wanted(Terminal(), {"NO_COLOR": "1"})
    assert not spinner_wanted(io.StringIO(), {}) and not colour_wanted(io.StringIO(), {})


def test_cli_output_has_no_escape_codes_when_not_a_terminal(cluster, cli) -> None:
    from tests.conftest import VALUES_DIR

    result = cli("run", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", "plain-1", "--wait")
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" not in result.stdout + result.stderr
    assert "driver plain-1-driver: Succeeded" in result.stderr


def test_the_spinner_starts_with_the_first_progress_line() -> None:
    """`run` prints its submission lines on stdout first; no spinner may draw over them."""
    stream = Terminal()
    with Waiting("waiting", stream=stream, environ={"TERM": "xterm"}) as waiting:
        time.sleep(0.2)
        assert stream.getvalue() == ""
        waiting.what = "waiting for pi-2"
        waiting.notice("driver pi-2-driver: Pending")
        time.sleep(0.2)
    assert "waiting for pi-2: driver pi-2-driver: Pending" in stream.getvalue()
