package smssystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/owlstack/owl/internal/sms"
	"github.com/owlstack/owl/internal/sms/phonecrypt"
	"github.com/owlstack/owl/internal/sms/smsstore"
)

// maxImportErrors is how many bad rows an import reports before it stops.
const maxImportErrors = 20

// ImportResult counts what an import did.
type ImportResult struct {
	Rows int
}

// Import reads a users CSV file (named name in errors) and stores every row
// in one transaction, numbers encrypted and indexed: either the whole file
// is imported or, when any row is bad, nothing. Users already stored are
// updated. progress, when set, is called every 1000 rows.
func Import(ctx context.Context, db *smsstore.DB, c *phonecrypt.Cipher, r io.Reader, name, region string, now time.Time, progress func(rows int)) (ImportResult, error) {
	var res ImportResult
	cr, err := sms.NewCSVReader(r, name, region)
	if err != nil {
		return res, err
	}
	var errs []error
	err = db.InTx(ctx, func(tx *smsstore.Tx) error {
		for {
			row, err := cr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *sms.RowError
			if errors.As(err, &re) {
				errs = append(errs, err)
				if len(errs) >= maxImportErrors {
					errs = append(errs, fmt.Errorf("%s: stopped after %d errors", name, maxImportErrors))
					break
				}
				continue
			}
			if err != nil {
				return err
			}
			if len(errs) > 0 {
				continue // keep validating, write nothing more
			}
			ct, err := c.EncryptPhone(row.Phone, row.UserID)
			if err != nil {
				return err
			}
			idx, err := c.Index(row.Phone)
			if err != nil {
				return err
			}
			u := sms.User{ID: row.UserID, PhoneCiphertext: ct, PhoneIndex: idx, TimeZone: row.TimeZone,
				StreakDays: row.StreakDays, LastActiveAt: row.LastActiveAt, OptedOut: row.OptedOut}
			if err := tx.UpsertUser(ctx, u, phonecrypt.KeyID(ct), now); err != nil {
				return fmt.Errorf("%s:%d: %w", name, row.Line, err)
			}
			res.Rows++
			if progress != nil && res.Rows%1000 == 0 {
				progress(res.Rows)
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}
