package registry

// SampleTOML is the commented [providers] section for penny's default
// penny.toml. It decodes into Config (a test keeps it valid). Everything is
// commented out except the simulator's pace, so a fresh install runs
// offline; setting OPENAI_API_KEY is enough to call OpenAI.
const SampleTOML = `# ── Providers ────────────────────────────────────────────────────────────
# With no key anywhere, penny answers with its simulator ("sim"): canned,
# deterministic answers, marked as simulated everywhere they are shown.
# OPENAI_API_KEY (and optionally OPENAI_BASE_URL) enables the catalog's
# OpenAI models. Other OpenAI-compatible servers are listed as endpoints;
# keys are read from the environment variable named by api_key_env and are
# never written to the database, the ledger or a log.
[providers]
# offline = false            # true: always use the simulator, even with keys set

[providers.sim]
latency = "250ms"            # before the answer starts
chunk_delay = "30ms"         # between streamed chunks
chunk_words = 3
# fault = "rate_limit"       # rate_limit | server_error | timeout | bad_response | auth
# fault_rate = 0.1           # share of requests that fail (same request, same outcome)
# hang = "2s"                # how long a simulated timeout blocks
# Or put [[sim:rate_limit]] (etc.) in a prompt to fail that one request.

# OpenAI itself needs no entry: OPENAI_API_KEY is enough. Uncomment to tune it.
# [[providers.endpoint]]
# name = "openai"
# base_url = "https://api.openai.com/v1"   # OPENAI_BASE_URL overrides
# api_key_env = "OPENAI_API_KEY"
# timeout = "60s"              # whole call; for streams, until the first chunk
# idle_timeout = "30s"         # longest silence inside a stream
# max_attempts = 3             # retries on 429, 5xx, timeouts; never on other 4xx
# backoff_base = "500ms"       # doubles each retry, with jitter, up to backoff_max
# backoff_max = "8s"
# max_retry_after = "30s"      # a longer Retry-After fails at once and says when to retry

# Ollama (no key). Model names are Ollama's; they are not in the price
# catalog, so penny cannot price them unless you add them with [[prices]].
# [[providers.endpoint]]
# name = "ollama"
# base_url = "http://localhost:11434/v1"
# models = ["llama3.2", "qwen2.5*"]      # '*' at the end matches a prefix

# OpenRouter: one key for many vendors; its ids are "vendor/model".
# [[providers.endpoint]]
# name = "openrouter"
# base_url = "https://openrouter.ai/api/v1"
# api_key_env = "OPENROUTER_API_KEY"
# serves = ["openai", "anthropic"]       # catalog providers this endpoint serves
# qualify_model_ids = true               # send "anthropic/claude-3-haiku"
# [providers.endpoint.model_map]         # exceptions: penny id = wire id
# "gpt-4o-mini" = "openai/gpt-4o-mini"

# Groq, Together, vLLM, LM Studio work the same way:
# [[providers.endpoint]]
# name = "groq"
# base_url = "https://api.groq.com/openai/v1"
# api_key_env = "GROQ_API_KEY"
# serves = ["groq"]
`
