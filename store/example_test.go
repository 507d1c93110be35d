package store_test

import (
	"fmt"
	"log"
	"os"

	"github.com/franzfs/franzfs/store"
)

func ExampleBatch() {
	dir, err := os.MkdirTemp("", "franzfs-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	w, err := store.OpenWriter(dir, store.WriterOptions{Create: true, Indices: []string{"time"}})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	var b store.Batch
	for _, line := range []string{"started\n", "disk full\n"} {
		b.Add([]byte(line), store.Now) // the payload, then one value per index
	}
	b.Tag("error") // tags the record added last
	n := b.Len()
	first, err := w.Commit(&b) // and empties b for the next records
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("records", first, "to", first+int64(n)-1)

	s, err := store.OpenDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	path, err := store.ParsePath("tag/error")
	if err != nil {
		log.Fatal(err)
	}
	errs, err := s.View(path)
	if err != nil {
		log.Fatal(err)
	}
	size, _ := errs.Size()
	data := make([]byte, size)
	errs.ReadAt(data, 0)
	fmt.Printf("tag/error: %s", data)
	// Output:
	// records 0 to 1
	// tag/error: disk full
}
