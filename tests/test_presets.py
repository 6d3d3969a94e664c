import json
from pathlib import Path

import pytest

from dqn_tf.presets import (
    PRESETS,
    SOURCES,
    Config,
    ConfigError,
    field_names,
    get_preset,
    preset_table,
)


def test_book_preset_is_the_books_values():
    c = get_preset("book")
    assert c == Config()
    assert c.env == "LunarLander-v3"
    assert c.hidden == (32, 32)
    assert (c.loss, c.optimizer, c.learning_rate) == ("mse", "adam", 1e-4)
    assert (c.gamma, c.batch_size, c.memory_size) == (0.99, 32, 250_000)
    assert (c.epsilon_start, c.epsilon_min, c.epsilon_decay) == (1.0, 0.01, 0.9994)
    assert c.double_dqn and c.target_sync_steps == 0 and c.epsilon_linear_steps == 0


def test_notebook_preset_is_seed_000():
    c = get_preset("notebook")
    assert c.env == "RocketLander-v0"
    assert c.hidden == (512, 512, 512, 512)
    assert (c.loss, c.huber_delta, c.optimizer, c.learning_rate) == ("huber", 1.0, "rmsprop", 5e-5)
    assert (c.batch_size, c.memory_size, c.target_sync_steps) == (1024, 1_000_000, 100)
    assert (c.epsilon_linear_steps, c.epsilon_linear_end, c.epsilon_decay) == (100_000, 0.05, 0.97)
    assert c.prefill and not c.double_dqn and c.save_every == 100


def test_every_preset_field_has_a_source():
    for name in PRESETS:
        assert set(SOURCES[name]) == set(field_names()), name
    # The originals' presets name the original's line of every field themselves.
    assert "same as book" not in {*SOURCES["book"].values(), *SOURCES["notebook"].values()}


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("batch_size", 0, "batch_size must be an integer >= 1 (got 0)"),
        ("batch_size", -3, "batch_size"),
        ("gamma", 1.5, "gamma must be a number in [0, 1] (got 1.5)"),
        ("epsilon_start", -0.1, "epsilon_start must be a number in [0, 1]"),
        ("epsilon_min", 2, "epsilon_min"),
        ("memory_size", 16, "memory_size must be at least batch_size=32 (got 16)"),
        ("loss", "l1", "loss must be one of ['mse', 'huber'] (got 'l1')"),
        ("optimizer", "sgd", "optimizer must be one of ['adam', 'rmsprop']"),
        ("learning_rate", 0.0, "learning_rate must be a positive number (got 0.0)"),
        ("hidden", (32, 0), "hidden must be a non-empty list of positive layer sizes"),
        ("learn_order", "async", "learn_order must be one of ['overlap', 'original']"),
        ("double_dqn", 1, "double_dqn must be true or false (got 1)"),
        ("prefill", None, "prefill must be true or false (got None)"),
        ("epsilon_decay", 0.0, "epsilon_decay must be a number in (0, 1] (got 0.0)"),
        ("epsilon_decay", 1.5, "epsilon_decay must be a number in (0, 1] (got 1.5)"),
        ("learning_rate", 10**400, "learning_rate must be a positive number (got 1000"),
        ("huber_delta", float("inf"), "huber_delta must be a positive number (got inf)"),
        ("env", "", "env must be a gymnasium environment id (got '')"),
    ],
)
def test_bad_hyperparameters_name_the_field(field, value, needle):
    with pytest.raises(ConfigError) as err:
        get_preset("book", **{field: value})
    assert needle in str(err.value)


def test_unknown_preset_and_field():
    with pytest.raises(ConfigError, match=r"preset must be one of \['book', 'notebook'"):
        get_preset("turbo")
    with pytest.raises(ConfigError, match="unknown config field"):
        get_preset("book", batchsize=3)


def test_json_round_trip():
    for name in PRESETS:
        c = get_preset(name)
        again = Config.from_dict(json.loads(c.to_json()))
        assert again == c


def test_learn_order_defaults_to_the_overlap_and_old_run_folders_keep_the_original_order():
    """New runs overlap the update with the game's step; a configuration saved before the
    field existed was trained in the originals' order, and must resume in it. "seeds", the
    order's former name, is read as "original"."""
    assert Config().learn_order == "overlap"
    assert [get_preset(name).learn_order for name in PRESETS] == [
        "overlap",  # book
        "overlap",  # notebook
        "original",  # fast: its solve table was measured in the originals' order
        "original",  # lunar100k: fast's, and so was its solve table
        "original",  # rocket: so were its landings
    ]
    assert PRESETS == ("book", "notebook", "fast", "lunar100k", "rocket")
    saved_before = {k: v for k, v in get_preset("book").to_dict().items() if k != "learn_order"}
    assert Config.from_dict(saved_before).learn_order == "original"
    assert Config.from_dict(saved_before) == get_preset("book", learn_order="original")
    assert Config.from_dict({**saved_before, "learn_order": "seeds"}).learn_order == "original"
    assert get_preset("fast", learn_order="seeds") == get_preset("fast")


def test_docs_preset_table_is_the_generated_one():
    """docs/presets.md's table is `python -m dqn_tf presets --markdown`: run `make docs`."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "presets.md").read_text()
    assert preset_table().strip() in page
