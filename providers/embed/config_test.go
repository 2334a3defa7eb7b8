package embed

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := New(DefaultConfig())
	if err != nil || !strings.HasPrefix(e.ID(), "local-") {
		t.Fatalf("default: %v %v", e, err)
	}
	o, err := New(Config{Provider: "openai", Model: "nomic-embed-text", BaseURL: "http://localhost:11434/v1"})
	if err != nil || o.ID() != "openai:nomic-embed-text" || o.Dim() != 768 {
		t.Fatalf("ollama: %v %v", o, err)
	}
	for _, bad := range []Config{
		{Provider: "bert"},
		{Provider: "openai", Model: "my-model"},
		{Provider: "openai", BaseURL: "localhost:11434"},
		{Provider: "local", Model: "x"},
		{Provider: "openai", Dim: -1},
	} {
		if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "embed") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
