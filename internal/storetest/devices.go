package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func testDevices(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	tech := newTechnician(t, s, "Ana")
	t.Run("OK", func(t *testing.T) {
		token := enroute.NewDeviceToken()
		d := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier(), Name: "Pixel"}
		must(t, s.CreateDevice(ctx, d, enroute.HashSecret(token)))
		got, err := s.FindDeviceByID(ctx, d.ID)
		must(t, err)
		diff(t, got, d)

		byToken, err := s.FindDevices(ctx, enroute.DeviceFilter{TokenHash: enroute.HashSecret(token)})
		must(t, err)
		if len(byToken) != 1 || byToken[0].ID != d.ID {
			t.Fatalf("by token = %v", byToken)
		}
		byID, err := s.FindDevices(ctx, enroute.DeviceFilter{Identifier: &d.Identifier})
		must(t, err)
		if len(byID) != 1 || byID[0].ID != d.ID || !bytes.Equal(byID[0].TokenHash, enroute.HashSecret(token)) {
			t.Fatalf("by identifier = %v, want the device with its token's hash", byID)
		}
		wrong, err := s.FindDevices(ctx, enroute.DeviceFilter{TokenHash: enroute.HashSecret(token + "x")})
		must(t, err)
		if len(wrong) != 0 {
			t.Fatalf("wrong token found %v", wrong)
		}

		r, err := s.RevokeDevice(ctx, d.ID)
		must(t, err)
		if !r.Revoked() {
			t.Fatalf("revoked = %+v", r)
		}
		if _, err := s.RevokeDevice(ctx, d.ID); err != nil {
			t.Fatalf("second revoke: %v", err)
		}
		active, err := s.FindDevices(ctx, enroute.DeviceFilter{TokenHash: enroute.HashSecret(token)})
		must(t, err)
		if len(active) != 0 {
			t.Fatalf("revoked device still authenticates: %v", active)
		}
		all, err := s.FindDevices(ctx, enroute.DeviceFilter{TechnicianID: &tech.ID, IncludeRevoked: true})
		must(t, err)
		if len(all) != 1 {
			t.Fatalf("with revoked = %v", all)
		}
		// Changed since: at or after the revocation, not after it; the
		// second revocation changed nothing.
		since := *r.RevokedAt
		lately, err := s.DevicesChangedSince(ctx, since)
		must(t, err)
		if !slices.Contains(lately, d.ID) {
			t.Fatalf("changed since its revocation = %v, want %d in it", lately, d.ID)
		}
		after := since.Add(time.Millisecond)
		if later, err := s.DevicesChangedSince(ctx, after); err != nil || slices.Contains(later, d.ID) {
			t.Fatalf("changed since after its revocation = %v, %v", later, err)
		}
	})
	t.Run("ReplaceDeviceToken", func(t *testing.T) {
		d := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier()}
		old := enroute.NewDeviceToken()
		must(t, s.CreateDevice(ctx, d, enroute.HashSecret(old)))
		before := time.Now().Add(-time.Second)
		if ids, err := s.DevicesChangedSince(ctx, before); err != nil || slices.Contains(ids, d.ID) {
			t.Fatalf("a new device changed: %v, %v", ids, err)
		}
		fresh := enroute.NewDeviceToken()
		got, err := s.ReplaceDeviceToken(ctx, d.ID, enroute.HashSecret(fresh))
		must(t, err)
		if got.ID != d.ID || got.Identifier != d.Identifier || !bytes.Equal(got.TokenHash, enroute.HashSecret(fresh)) {
			t.Fatalf("replaced = %+v", got)
		}
		if ds, err := s.FindDevices(ctx, enroute.DeviceFilter{TokenHash: enroute.HashSecret(old)}); err != nil || len(ds) != 0 {
			t.Fatalf("the old token still finds %v, %v", ds, err)
		}
		if ds, err := s.FindDevices(ctx, enroute.DeviceFilter{TokenHash: enroute.HashSecret(fresh)}); err != nil || len(ds) != 1 || ds[0].ID != d.ID {
			t.Fatalf("the new token finds %v, %v", ds, err)
		}
		if ids, err := s.DevicesChangedSince(ctx, before); err != nil || !slices.Contains(ids, d.ID) {
			t.Fatalf("changed since = %v, %v; want %d in it", ids, err, d.ID)
		}
		_, err = s.ReplaceDeviceToken(ctx, d.ID, []byte("short"))
		wantCode(t, err, enroute.EINVALID)
		_, err = s.ReplaceDeviceToken(ctx, 999999, enroute.HashSecret(fresh+"x"))
		wantCode(t, err, enroute.ENOTFOUND)
		_, err = s.RevokeDevice(ctx, d.ID)
		must(t, err)
		_, err = s.ReplaceDeviceToken(ctx, d.ID, enroute.HashSecret(fresh+"y"))
		wantCode(t, err, enroute.ECONFLICT)
	})
	t.Run("MQTTIdentity", func(t *testing.T) {
		d := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier(), Name: "Pixel", MQTTIdentity: "ana/pixel"}
		must(t, s.CreateDevice(ctx, d, enroute.HashSecret(enroute.NewDeviceToken())))
		find := func(identity string) []*enroute.Device {
			t.Helper()
			ds, err := s.FindDevices(ctx, enroute.DeviceFilter{MQTTIdentity: &identity})
			must(t, err)
			return ds
		}
		if ds := find("ana/pixel"); len(ds) != 1 || ds[0].ID != d.ID || ds[0].MQTTIdentity != "ana/pixel" {
			t.Fatalf("by MQTT identity = %v", ds)
		}
		// Another active device cannot have it, at creation or by update.
		twin := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier(), MQTTIdentity: "ana/pixel"}
		wantCode(t, s.CreateDevice(ctx, twin, enroute.HashSecret(enroute.NewDeviceToken())), enroute.ECONFLICT)
		twin.MQTTIdentity = ""
		must(t, s.CreateDevice(ctx, twin, enroute.HashSecret(enroute.NewDeviceToken())))
		taken := "ana/pixel"
		_, err := s.UpdateDevice(ctx, twin.ID, enroute.DeviceUpdate{MQTTIdentity: &taken})
		wantCode(t, err, enroute.ECONFLICT)
		bad := "ana/pixel/extra"
		_, err = s.UpdateDevice(ctx, d.ID, enroute.DeviceUpdate{MQTTIdentity: &bad})
		wantCode(t, err, enroute.EINVALID)

		// A new identity is a change every node hears of (a device created
		// with one too, above); a name alone is not.
		if ids, err := s.DevicesChangedSince(ctx, time.Now().Add(-time.Minute)); err != nil || !slices.Contains(ids, d.ID) {
			t.Fatalf("a device created with an MQTT identity is no change: %v, %v", ids, err)
		}
		before := time.Now()
		name := "Pixel 9"
		got, err := s.UpdateDevice(ctx, d.ID, enroute.DeviceUpdate{Name: &name})
		must(t, err)
		if got.Name != name || got.MQTTIdentity != "ana/pixel" {
			t.Fatalf("renamed = %+v", got)
		}
		if ids, err := s.DevicesChangedSince(ctx, before); err != nil || slices.Contains(ids, d.ID) {
			t.Fatalf("a rename changed the device: %v, %v", ids, err)
		}
		moved := "ana/pixel9"
		got, err = s.UpdateDevice(ctx, d.ID, enroute.DeviceUpdate{MQTTIdentity: &moved})
		must(t, err)
		if got.MQTTIdentity != moved || len(find("ana/pixel")) != 0 || len(find(moved)) != 1 {
			t.Fatalf("moved = %+v, old finds %v", got, find("ana/pixel"))
		}
		if ids, err := s.DevicesChangedSince(ctx, before); err != nil || !slices.Contains(ids, d.ID) {
			t.Fatalf("changed since = %v, %v; want %d in it", ids, err, d.ID)
		}
		stored, err := s.FindDeviceByID(ctx, d.ID)
		must(t, err)
		diff(t, stored, got)

		// Revoked, the device lets its identity go: the phone's new
		// registration may take it.
		_, err = s.RevokeDevice(ctx, d.ID)
		must(t, err)
		if len(find(moved)) != 0 {
			t.Fatal("a revoked device is found by its MQTT identity")
		}
		_, err = s.UpdateDevice(ctx, d.ID, enroute.DeviceUpdate{Name: &name})
		wantCode(t, err, enroute.ECONFLICT)
		again := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier(), MQTTIdentity: moved}
		must(t, s.CreateDevice(ctx, again, enroute.HashSecret(enroute.NewDeviceToken())))
		_, err = s.UpdateDevice(ctx, 999999, enroute.DeviceUpdate{Name: &name})
		wantCode(t, err, enroute.ENOTFOUND)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		d := &enroute.Device{TechnicianID: 999999, Identifier: enroute.NewDeviceIdentifier()}
		wantCode(t, s.CreateDevice(ctx, d, enroute.HashSecret("x")), enroute.ENOTFOUND)
		_, err := s.RevokeDevice(ctx, 999999)
		wantCode(t, err, enroute.ENOTFOUND)
	})
	t.Run("DeleteTechnicianDeletesDevices", func(t *testing.T) {
		other := newTechnician(t, s, "Cy")
		d := &enroute.Device{TechnicianID: other.ID, Identifier: enroute.NewDeviceIdentifier()}
		must(t, s.CreateDevice(ctx, d, enroute.HashSecret(enroute.NewDeviceToken())))
		before := time.Now().Add(-time.Second)
		must(t, s.DeleteTechnician(ctx, other.ID))
		_, err := s.FindDeviceByID(ctx, d.ID)
		wantCode(t, err, enroute.ENOTFOUND)
		// Its devices are gone, and every node can learn that they changed.
		if ids, err := s.DevicesChangedSince(ctx, before); err != nil || !slices.Contains(ids, d.ID) {
			t.Fatalf("changed since the deletion = %v, %v; want %d in it", ids, err, d.ID)
		}
	})
}
