package cluster

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"rosetta/engine"
)

func pngBytes(t *testing.T, i int) []byte {
	im := image.NewRGBA(image.Rect(0, 0, 4+i%5, 3))
	for x := 0; x < im.Bounds().Dx(); x++ {
		for y := 0; y < 3; y++ {
			im.Set(x, y, color.RGBA{uint8(i), uint8(i >> 8), 7, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestClusterDistributedIngest: a client queues files (texts inline,
// images through the blob bucket) as work items; two encoder workers
// encode them with the collection's model and write them to the shard
// logs; one worker is killed in the middle of an item. Every file ends
// up in the collection exactly once, encoded as the model encodes it,
// kept images served from a replica.
func TestClusterDistributedIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("takes half a minute")
	}
	h := newHarness(t, 3)
	ctx := context.Background()
	schema := engine.Collection{Name: "ing", Shards: 3, Replicas: 2, Spaces: []engine.Space{{Name: "v", Model: "fake"}}}
	if _, err := h.nodes[0].node.CreateCollection(ctx, schema); err != nil {
		t.Fatal(err)
	}
	var e1Items atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	testHookWork = func(ctx context.Context, node string) {
		if node == "e1" && e1Items.Add(1) == 4 {
			once.Do(func() { close(killed) })
			<-ctx.Done() // killed holding the item
		}
	}
	defer func() { testHookWork = nil }()
	e1 := h.startEncoder("e1", 0)
	e2 := h.startEncoder("e2", 1)
	go func() {
		<-killed
		e1.stop()
	}()
	// The client: a node of role client on node 2's NATS server.
	nc, err := nats.Connect("nats://" + h.nodes[2].client)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	client, err := Open(cctx, Config{Name: "test", Node: "ingest-client", Role: RoleClient, Conn: nc, Logger: quiet(), StreamReplicas: 3})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	const items, per = 30, 4
	want := map[string]bool{}
	for it := 0; it < items; it++ {
		var objs []engine.Object
		for k := 0; k < per; k++ {
			key := fmt.Sprintf("file-%d-%d", it, k)
			want[key] = true
			o := engine.Object{Key: key, Source: "/srv/" + key, Metadata: map[string]any{"item": it}}
			if k == 0 {
				o.Modality, o.Content = "image", &engine.Content{Image: pngBytes(t, it), Keep: true}
			} else {
				o.Modality, o.Content = "text", &engine.Content{Text: "text of " + key}
			}
			objs = append(objs, o)
		}
		ids, err := client.SubmitWork(ctx, "ing", objs)
		if err != nil {
			t.Fatal(err)
		}
		if ids[0] != keyID(objs[0].Key) {
			t.Fatalf("work ids %v", ids)
		}
	}
	select {
	case <-killed:
	case <-time.After(30 * time.Second):
		t.Fatal("worker e1 never took a fourth item")
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	checkAll(t, h, "ing", keys, 60*time.Second)
	got := stableUnion(t, h.nodes[0].node, "ing", keys)
	if len(got) != len(want) {
		t.Fatalf("%d objects for %d files", len(got), len(want))
	}
	if e2.node.itemsDone.Load() == 0 {
		t.Fatal("worker e2 wrote nothing")
	}
	t.Logf("e1 took %d items (killed in its 4th), e2 wrote %d", e1Items.Load(), e2.node.itemsDone.Load())
	// Encoded by the model: a text's vector is vec(text).
	o, err := h.nodes[1].node.GetObject(ctx, "ing", keyID("file-3-2"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cosDist(o.Vectors["v"], vec("text of file-3-2")); d > 1e-5 || o.Content == nil || o.Content.Text != "text of file-3-2" {
		t.Fatalf("text object %+v (distance %g)", o, d)
	}
	// A kept image is served by a replica, fetched from the blob bucket.
	src, err := h.nodes[2].node.OpenSource(ctx, "ing", keyID("file-7-0"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.File.Close()
	var b bytes.Buffer
	b.ReadFrom(src.File)
	if !bytes.Equal(b.Bytes(), pngBytes(t, 7)) {
		t.Fatalf("media of file-7-0: %d bytes", b.Len())
	}
}
