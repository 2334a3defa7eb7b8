package cli

import (
	"slices"
	"testing"
)

func TestExpandLists(t *testing.T) {
	got := expandLists([]string{"--data", "a.csv", "b.csv", "--json", "--train=c.csv", "--train", "d.csv", "--weak", "w"}, "data", "train")
	want := []string{"--data", "a.csv", "--data", "b.csv", "--json", "--train=c.csv", "--train", "d.csv", "--weak", "w"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
