"""The command line's own checks: a bad number is a usage error (exit 2), never a traceback."""

from __future__ import annotations

import pytest

from serve_app.cli import parser


@pytest.mark.parametrize("bench", ["flash-sale", "reservations"])
def test_rounds_default_to_one_and_take_a_positive_count(bench):
    assert parser().parse_args(["bench", bench]).rounds == 1
    assert parser().parse_args(["bench", bench, "--rounds", "3"]).rounds == 3


@pytest.mark.parametrize("bench", ["flash-sale", "reservations"])
@pytest.mark.parametrize("rounds", ["0", "-2", "two", "1.5"])
def test_a_bad_round_count_is_a_usage_error(bench, rounds, capsys):
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["bench", bench, "--rounds", rounds])
    assert exited.value.code == 2
    assert "--rounds" in capsys.readouterr().err


def test_peer_worker_counts_are_checked():
    assert parser().parse_args(["bench", "flash-sale", "--peer-workers", "1,2"]).peer_workers == [1, 2]
    with pytest.raises(SystemExit):
        parser().parse_args(["bench", "flash-sale", "--peer-workers", "0"])
