package tracker

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func BenchmarkDecodeNative(b *testing.B) {
	for _, n := range []int{1, 100} {
		fix := `{"ts":1795769999000,"lat":41.1496,"lng":-8.6109,"accuracy_m":4.5,"speed_mps":12.5,"heading_deg":90,"altitude_m":81,"battery":77}`
		body := []byte("[" + strings.TrimSuffix(strings.Repeat(fix+",", n), ",") + "]")
		b.Run(fmt.Sprintf("fixes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for range b.N {
				if _, err := DecodeNative(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeOsmAnd(b *testing.B) {
	q := "id=dev_abc&timestamp=1795769940&lat=41.1496&lon=-8.6109&speed=10&bearing=270.5&altitude=81&accuracy=12&batt=64"
	b.ReportAllocs()
	for range b.N {
		v, _ := url.ParseQuery(q)
		if _, _, err := DecodeOsmAnd(v, now); err != nil {
			b.Fatal(err)
		}
	}
}
