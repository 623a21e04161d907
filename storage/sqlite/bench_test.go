package sqlite

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/apis/example"
	"k8s.io/apiserver/pkg/storage"
)

// benchBackends are the databases every benchmark runs on.
var benchBackends = []struct {
	name string
	opt  setupOption
}{{"memory", inMemory}, {"disk", onDisk}}

// BenchmarkCreate measures one acknowledged create: on disk, a committed
// and fsynced SQLite transaction (WAL, synchronous=FULL).
func BenchmarkCreate(b *testing.B) {
	for _, backend := range benchBackends {
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

// benchWriters is how many goroutines BenchmarkCreateParallel creates
// from: the 8 concurrent client-go workers of the minimal-apiserver
// measurement.
const benchWriters = 8

// BenchmarkCreateParallel measures creates from benchWriters concurrent
// goroutines: on disk, what concurrent writers gain from sharing a commit
// and its fsync.
func BenchmarkCreateParallel(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend.name, func(b *testing.B) {
			ctx, s, _ := testSetup(b, backend.opt)
			var n atomic.Int64
			// RunParallel starts parallelism * GOMAXPROCS goroutines.
			b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					pod := &example.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: fmt.Sprintf("pod-%d", n.Add(1))}}
					if err := s.Create(ctx, "/pods/bench/"+pod.Name, pod, nil, 0); err != nil {
						b.Error(err)
						return
					}
				}
			})
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
