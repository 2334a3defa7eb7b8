package embed

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeOpenAI speaks the OpenAI embeddings wire format: POST /embeddings
// with {"input": [...], "model": ...}; it returns vectors in reverse order
// (the API allows any order, indexed) and unnormalized, like Ollama.
func fakeOpenAI(t *testing.T, dim int, calls *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer sk-test-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"message":"Incorrect API key provided: sk-test-secret","type":"invalid_request_error"}}`))
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type item struct {
			Object    string    `json:"object"`
			Embedding []float32 `json:"embedding"`
			Index     int       `json:"index"`
		}
		var data []item
		for i := len(req.Input) - 1; i >= 0; i-- {
			v := make([]float32, dim)
			v[len(req.Input[i])%dim] = 3 // length-determined direction, norm 3
			v[0] += 4
			data = append(data, item{Object: "embedding", Embedding: v, Index: i})
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model, "usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
	}))
}

func TestOpenAIEmbedder(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, 8, &calls)
	defer srv.Close()
	e, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL + "/v1", APIKey: "sk-test-secret", Model: "nomic-embed-text", Dim: 8, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if e.ID() != "openai:nomic-embed-text" || e.Dim() != 8 {
		t.Errorf("id %q dim %d", e.ID(), e.Dim())
	}
	texts := []string{"a", "bb", "ccc", ""}
	v, err := e.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d requests for 4 texts in batches of 2", calls.Load())
	}
	for i, x := range v {
		var n float64
		for _, c := range x {
			n += float64(c) * float64(c)
		}
		if math.Abs(n-1) > 1e-6 {
			t.Errorf("vector %d norm² %v", i, n)
		}
		// Order restored from the indexes: text i has its bump at len(text)%8.
		if want := len(texts[i]) % 8; want != 0 && x[want] == 0 {
			t.Errorf("vector %d is not text %q's", i, texts[i])
		}
	}
	if _, err := e.Embed(context.Background(), []string{"a", "bb"}); err != nil || calls.Load() != 2 {
		t.Errorf("cached texts re-requested (%d calls, %v)", calls.Load(), err)
	}
}

func TestOpenAIErrors(t *testing.T) {
	var calls atomic.Int32
	srv := fakeOpenAI(t, 8, &calls)
	defer srv.Close()
	bad, _ := NewOpenAI(OpenAIOptions{BaseURL: srv.URL + "/v1", APIKey: "sk-wrong", Model: "nomic-embed-text"})
	if _, err := bad.Embed(context.Background(), []string{"x"}); err == nil {
		t.Error("401 accepted")
	}
	// A server echoing the key: the error must not carry it.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"message":"Incorrect API key provided: sk-very-secret-key","type":"invalid_request_error"}}`))
	}))
	defer echo.Close()
	e, _ := NewOpenAI(OpenAIOptions{BaseURL: echo.URL + "/v1", APIKey: "sk-very-secret-key", Model: "text-embedding-3-small"})
	_, err := e.Embed(context.Background(), []string{"x"})
	if err == nil || strings.Contains(err.Error(), "sk-very-secret-key") || !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("error %v", err)
	}
	// Wrong dimension from the server.
	wrong, _ := NewOpenAI(OpenAIOptions{BaseURL: srv.URL + "/v1", APIKey: "sk-test-secret", Model: "text-embedding-3-small"})
	if _, err := wrong.Embed(context.Background(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "dimensions") {
		t.Errorf("8-d vectors for a 1536-d model: %v", err)
	}
	if _, err := NewOpenAI(OpenAIOptions{Model: "some-unknown-model"}); err == nil {
		t.Error("unknown model without Dim accepted")
	}
	short, _ := NewOpenAI(OpenAIOptions{Dimensions: 256})
	if short.ID() != "openai:text-embedding-3-small@256" || short.Dim() != 256 {
		t.Errorf("shortened: %s %d", short.ID(), short.Dim())
	}
}
