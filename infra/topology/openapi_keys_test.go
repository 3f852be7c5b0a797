package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// TestOpenAPIHasNoDuplicateKeys fails on a JSON object that names a key
// twice: encoding/json keeps the last one silently, so a duplicated
// response or path would hide the first from every other check.
func TestOpenAPIHasNoDuplicateKeys(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkDuplicateKeys(raw); err != nil {
		t.Fatal(err)
	}
}

func TestCheckDuplicateKeysFindsThem(t *testing.T) {
	t.Parallel()
	if err := checkDuplicateKeys([]byte(`{"a":{"409":1,"b":[{"x":1}],"409":2}}`)); err == nil {
		t.Fatal("a duplicated key passed")
	}
	if err := checkDuplicateKeys([]byte(`{"a":{"409":1},"b":{"409":2}}`)); err != nil {
		t.Fatalf("the same key in two objects: %v", err)
	}
}

// checkDuplicateKeys walks a JSON document's tokens and reports the first
// key an object repeats, with its path.
func checkDuplicateKeys(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("%s: key %q appears twice", path, key)
				}
				seen[key] = true
				if err := walk(path + "/" + key); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk("")
}
