package sqlite

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"
)

// BenchmarkCreate measures one acknowledged create: on disk, a committed
// and fsynced SQLite transaction (WAL, synchronous=FULL).
func BenchmarkCreate(b *testing.B) {
	for _, backend := range []struct {
		name string
		opt  setupOption
	}{{"memory", inMemory}, {"disk", onDisk}} {
		b.Run(backend.name, func(b *testing.B) {
			ctx, s, _ := testSetup(b, backend.opt)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("pod-%d", i)}}
				if err := s.Create(ctx, "/pods/bench/"+pod.Name, pod, nil, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWatchLatency measures a create until a watcher of its
// namespace receives the ADDED event.
func BenchmarkWatchLatency(b *testing.B) {
	ctx, s, _ := testSetup(b)
	w, err := s.Watch(ctx, "/pods/bench", storage.ListOptions{ResourceVersion: "1", Predicate: storage.Everything, Recursive: true})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	for i := 0; b.Loop(); i++ {
		pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("pod-%d", i)}}
		if err := s.Create(ctx, "/pods/bench/"+pod.Name, pod, nil, 0); err != nil {
			b.Fatal(err)
		}
		if ev := <-w.ResultChan(); ev.Object.(*example.Pod).Name != pod.Name {
			b.Fatalf("got %v %v, want the ADDED event of %s", ev.Type, ev.Object, pod.Name)
		}
	}
}
