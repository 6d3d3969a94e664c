# The README's two set-up commands are `make install` and `make test`; .ci/run runs exactly those.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_DIR ?= runs/lunarlander-fast-seed0
SEED ?= 0
STEPS ?= 150000

.PHONY: install test lint docs train tensorboard notebooks readme-gifs bench bench-deps clean

# The Python versions the whole test suite has run on (pyproject.toml's requires-python says
# the same). With another, install stops before doing anything, with one line saying how to
# choose one.
SUPPORTED_PYTHON := 3.11 3.12 3.13
python_version = $(shell $(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null)

install:
	$(if $(filter $(SUPPORTED_PYTHON),$(basename $(python_version))),,$(error $(PYTHON) is $(if $(python_version),Python $(python_version),not a Python that runs); dqn_tf is tested with Python $(SUPPORTED_PYTHON): run make install PYTHON=python3.12 (or the path of one of those)))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@$(PY) -c "from dqn_tf.quiet import keras, tf; import gymnasium; print('installed: tensorflow', tf.__version__, '| keras', keras.__version__, '| gymnasium', gymnasium.__version__)"

lint:
	$(PY) -m ruff check dqn_tf tests bench notebooks docs/render.py
	$(PY) -m ruff format --check dqn_tf tests bench notebooks docs/render.py

test: lint
	$(PY) -m pytest -n 2 -q

# The main job: train LunarLander-v3 with the tuned preset, evaluate it, and leave a GIF.
# Interrupted (Ctrl-C)? Run `make train` again: it resumes from the run's checkpoint.
train:
	$(PY) -m dqn_tf train --env LunarLander-v3 --preset fast --steps $(STEPS) --seed $(SEED) --run-dir $(RUN_DIR) --log-every 20 $$(test -f $(RUN_DIR)/checkpoint.npz && echo --resume)
	$(PY) -m dqn_tf evaluate --run-dir $(RUN_DIR) --episodes 100 --seed 1000
	$(PY) -m dqn_tf evaluate --run-dir $(RUN_DIR) --episodes 100 --seed 1000 --weights best
	$(PY) -m dqn_tf replay --run-dir $(RUN_DIR) --gif $(RUN_DIR)/agent.gif --overwrite
	@echo "Weights, TensorBoard logs and agent.gif are in $(RUN_DIR)"

# Renders every figure of README.md and docs/*.md from the results files in docs/results/
# (written by the benches' --results), the preset table and the module list; prints the
# command of every results file not measured yet. tests/test_docs.py fails on a difference.
docs:
	$(PY) docs/render.py

tensorboard:
	$(VENV)/bin/tensorboard --logdir runs --port 6006

# Runs the three notebooks in full mode (long: real presets) and saves them with their outputs
# (never with DQN_TF_SOLVE: a learner's exercises stay theirs to do).
notebooks:
	DQN_TF_QUICK=0 DQN_TF_MODE=full DQN_TF_PROGRESS=0 SDL_VIDEODRIVER=dummy $(PY) -m jupyter nbconvert \
		--to notebook --execute --inplace --ExecutePreprocessor.timeout=-1 \
		--ExecutePreprocessor.kernel_name=python3 \
		notebooks/lunar_lander.ipynb notebooks/rocket_lander.ipynb notebooks/after_the_book.ipynb
	$(PY) docs/render.py  # the README quotes the notebooks' part times

# The README's two GIFs, replayed from the notebooks' full runs (run after make notebooks).
readme-gifs:
	SDL_VIDEODRIVER=dummy $(PY) notebooks/readme_gifs.py --out docs

# Benchmarks (issue 3): throughput against Stable-Baselines3, and solving with three seeds.
bench-deps:
	$(PYTHON) -m venv .venv-sb3
	.venv-sb3/bin/python -m pip install --quiet -r bench/requirements-sb3.txt

bench:
	$(PY) bench/throughput.py --steps 20000 --rounds 2 --results docs/results/throughput.json
	$(PY) bench/loop_profile.py --steps 10000 --rounds 3 --results docs/results/loop_profile.json
	$(PY) bench/solve.py --seeds 0 1 2 --steps 150000 --eval-episodes 100 --preset fast --results docs/results/solve_fast.json
	$(PY) bench/checkpoint_cost.py --results docs/results/checkpoint_cost.json
	$(MAKE) docs

clean:
	rm -rf runs .pytest_cache .ruff_cache
