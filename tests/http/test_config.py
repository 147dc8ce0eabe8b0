"""Config: flags win over REDDOT_* variables, which win over defaults; unusable settings refuse to start."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gateway import JWT_SECRET, Keys

from gateway.cli import main
from gateway.config import Config, ConfigError, settings

KEYS = ["--api-key", "k1", "--jwt-secret", JWT_SECRET]


class TestSources:
    def test_defaults(self) -> None:
        """Unset settings take the documented defaults."""
        config = Config.from_env_and_args(KEYS, env={})
        expected = ("127.0.0.1", 8000, None, "./var", (), False, 1 << 20, 10, 18000, 50, 10.0)
        actual = (
            config.host, config.port, config.redis_url, config.data_dir, config.allowed_origins, config.dev,
            config.max_body_bytes, config.max_connections_per_user, config.max_connections, config.ops_per_second,
            config.send_deadline_seconds,
        )  # fmt: skip
        assert expected == actual

    def test_environment_fills_unset_flags(self) -> None:
        """Every setting can come from its REDDOT_* variable; lists are comma-separated."""
        env = {
            "REDDOT_HOST": "0.0.0.0",
            "REDDOT_PORT": "9000",
            "REDDOT_REDIS_URL": "redis+cluster://r:7000",
            "REDDOT_DATA_DIR": "/data",
            "REDDOT_API_KEYS": "a, b,,c",
            "REDDOT_JWT_SECRET": JWT_SECRET,
            "REDDOT_ALLOWED_ORIGINS": "https://a.example,https://b.example",
            "REDDOT_MAX_CONNECTIONS": "500",
        }
        config = Config.from_env_and_args([], env=env)
        expected = ("0.0.0.0", 9000, "redis+cluster://r:7000", "/data", ("a", "b", "c"), 2, 500)
        actual = (
            config.host, config.port, config.redis_url, config.data_dir, config.api_keys,
            len(config.allowed_origins), config.max_connections,
        )  # fmt: skip
        assert expected == actual

    def test_flags_win_over_environment(self) -> None:
        """A flag beats its variable; repeatable flags collect every value."""
        env = {"REDDOT_PORT": "9000", "REDDOT_API_KEYS": "env-key", "REDDOT_JWT_SECRET": JWT_SECRET}
        config = Config.from_env_and_args(["--port", "9001", "--api-key", "a", "--api-key", "b"], env=env)
        expected = (9001, ("a", "b"))
        assert expected == (config.port, config.api_keys)

    def test_port_zero_is_a_choice(self) -> None:
        """--port 0 (any free port) is kept, not mistaken for unset."""
        expected = 0
        assert expected == Config.from_env_and_args([*KEYS, "--port", "0"], env={"REDDOT_PORT": "9000"}).port

    @pytest.mark.parametrize("value", ["1", "true", "yes"])
    def test_dev_from_environment(self, value: str) -> None:
        """REDDOT_DEV=1 turns dev mode on."""
        assert Config.from_env_and_args([], env={"REDDOT_DEV": value}).dev

    def test_dev_mode_generates_keys(self) -> None:
        """Dev mode generates a service key and a JWT secret when none is given."""
        config = Config.from_env_and_args(["--dev"], env={})
        expected = (1, True)
        assert expected == (len(config.api_keys), len(config.jwt_secret or "") >= 32)

    def test_dev_mode_keeps_given_keys(self) -> None:
        """Dev mode generates nothing that was configured."""
        config = Config.from_env_and_args(["--dev", *KEYS], env={})
        expected = (("k1",), JWT_SECRET)
        assert expected == (config.api_keys, config.jwt_secret)

    def test_public_key_from_text_or_file(self, tmp_path: Path, ec_keys: Keys) -> None:
        """The JWT public key is PEM text or the path of a PEM file."""
        path = tmp_path / "key.pem"
        path.write_text(ec_keys.public_pem)
        from_text = Config.from_env_and_args(["--api-key", "k", "--jwt-public-key", ec_keys.public_pem], env={})
        from_file = Config.from_env_and_args([], env={"REDDOT_API_KEYS": "k", "REDDOT_JWT_PUBLIC_KEY": str(path)})
        assert (ec_keys.public_pem, ec_keys.public_pem) == (from_text.jwt_public_key, from_file.jwt_public_key)


class TestRefusals:
    @pytest.mark.parametrize(
        ("argv", "env", "says"),
        [
            ([], {}, "service API key"),
            (["--api-key", "k"], {}, "user-token key"),
            (["--api-key", "k", "--jwt-secret", "short"], {}, "32 bytes"),
            (KEYS, {"REDDOT_PORT": "http"}, "REDDOT_PORT"),
            ([*KEYS, "--redis-url", "http://r:6379"], {}, "redis://"),
            ([*KEYS, "--max-body-bytes", "0"], {}, "max_body_bytes"),
            (["--api-key", "k", "--jwt-public-key", "/no/such/file.pem"], {}, "cannot read"),
            (["--api-key", "k", "--jwt-public-key", "-----BEGIN PUBLIC KEY-----\nxx\n"], {}, "not a PEM"),
            ([], {"REDDOT_DEV": "maybe"}, "REDDOT_DEV"),
            ([*KEYS, "--ping-interval-seconds", "inf"], {}, "finite"),
            (KEYS, {"REDDOT_PING_TIMEOUT_SECONDS": "nan"}, "finite"),
            ([*KEYS, "--ping-timeout-seconds", "0"], {}, "ping_timeout_seconds"),
            ([*KEYS, "--ping-interval-seconds=-1"], {}, "ping_interval_seconds"),
        ],
    )
    def test_unusable_settings_raise(self, argv: list[str], env: dict[str, str], says: str) -> None:
        """Missing keys, short secrets and malformed values are refused with a clear message."""
        with pytest.raises(ConfigError, match=says):
            Config.from_env_and_args(argv, env=env)

    def test_cli_exits_2_without_keys(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`reddot serve` outside dev mode without keys exits 2 with the reason on stderr."""
        for name in ("REDDOT_API_KEYS", "REDDOT_JWT_SECRET", "REDDOT_JWT_PUBLIC_KEY", "REDDOT_DEV"):
            monkeypatch.delenv(name, raising=False)
        code = main(["serve"])
        expected = (2, True)
        assert expected == (code, "service API key" in capsys.readouterr().err)

    def test_help_documents_every_flag(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`reddot serve --help` names each flag with its environment variable and default."""
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", "--help"])
        text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
        missing = [
            f"{spec.metadata['env']}; default" for spec in settings() if f"{spec.metadata['env']}; default" not in text
        ]
        expected = (0, [], True)
        assert expected == (exit_info.value.code, missing, "--api-key VALUE" in text)
