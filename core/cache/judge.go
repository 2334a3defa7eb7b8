package cache

// Text is a prompt with its embedding.
type Text struct {
	Prompt string
	Vector []float32 // L2-normalized, from the cache's embedder
}

// Judgement is the verdict on serving a cached prompt's answer for a query.
type Judgement struct {
	Score  float64 // on the judge's Scale; compared with the threshold
	Cosine float64 // raw cosine of the two vectors, before any calibration
	Guard  string  // guard that rejected the pair ("number", "negation", "entity"…); "" when none did
	Detail string  // the differing words, for the explanation
	// Features are the signals Score was computed from (the calibrated
	// judge fills them; other judges may leave them zero).
	Features Features
}

// Judge scores a (query, cached) pair and runs the guards. The cache asks it
// about the nearest neighbours its index returns.
type Judge interface {
	// Scale names what Score measures, shown next to every similarity.
	Scale() string
	Judge(query, cached Text) Judgement
}
