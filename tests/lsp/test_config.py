"""Settings parsing, without a server: defaults, camelCase keys, and a clear message per bad value."""

from __future__ import annotations

from mercury.lsp.config import Config, DebounceOptions, TokenBudgets, parse_config


def test_no_settings_means_defaults():
    assert parse_config(None) == (Config(), [])
    assert parse_config({}) == (Config(), [])


def test_camel_case_keys_and_sections():
    config, problems = parse_config(
        {
            "enable": False,
            "languages": ["python", "rust"],
            "multiline": "never",
            "tau": 0.7,
            "tokens": {"prefix": 512, "suffix": 64, "single": 32},
            "debounce": {"mode": "fixed", "ms": 80, "minMs": 10},
            "lineBudgetMs": 120,
        }
    )
    assert problems == []
    assert config == Config(
        enable=False,
        languages=("python", "rust"),
        multiline="never",
        tau=0.7,
        line_budget_ms=120,
        tokens=TokenBudgets(prefix=512, suffix=64, single=32),
        debounce=DebounceOptions(mode="fixed", ms=80, min_ms=10),
    )


def test_wrapped_in_a_mercury_section():
    config, problems = parse_config({"mercury": {"tau": 0.5}})
    assert (config.tau, problems) == (0.5, [])


def test_bad_values_fall_back_one_by_one_with_messages():
    config, problems = parse_config(
        {"tau": 3, "multiline": "sometimes", "enable": "yes", "tokens": {"prefix": 2.5, "suffix": 100}}
    )
    assert config == Config(tokens=TokenBudgets(suffix=100))  # the one good value is kept
    assert problems == [
        "setting `tau` must lie between 0.05 and 1.0, got 3; using the default 0.9",
        "setting `multiline` must be one of auto, always, never, got 'sometimes'; using the default 'auto'",
        "setting `enable` must be true or false, got 'yes'; using the default True",
        "setting `tokens.prefix` must be a whole number, got 2.5; using the default 1536",
    ]


def test_unknown_keys_and_wrong_shapes_are_reported():
    config, problems = parse_config({"colour": "red", "debounce": 5, "languages": [1]})
    assert config == Config()
    assert problems == [
        "unknown setting `colour` ignored",
        "setting `debounce` must be an object, got 5; using defaults",
        "setting `languages` must be a list of strings, got [1]; using the default ('*',)",
    ]


def test_languages_filter():
    config = Config(languages=("python", "rust"))
    assert config.enabled_for("python", "python")
    assert config.enabled_for("rs-custom", "rust")
    assert not config.enabled_for("go", "go")
    assert Config().enabled_for("markdown", None)
    assert not Config(enable=False).enabled_for("python", "python")
