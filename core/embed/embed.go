// Package embed defines how penny turns text into vectors. The cache and the
// router's learned signal use an Embedder; implementations live in
// providers/embed (the offline GloVe-based default, OpenAI-compatible APIs).
package embed

import "context"

// Embedder maps texts to fixed-length vectors. Vectors of different
// embedders (different ID or Dim) are never comparable.
type Embedder interface {
	// ID names the model and its version, e.g. "local-glove-sif-v1" or
	// "openai:text-embedding-3-small". Stored with every cache entry.
	ID() string
	// Dim is the vector length.
	Dim() int
	// Embed returns one vector per text, in order. Vectors are L2-normalized
	// so the dot product is the cosine similarity.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}
