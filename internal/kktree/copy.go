package kktree

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// copyTree copies the regular files under src into dst, writable by the
// owner (the module cache is read-only) and keeping the executable bit,
// which is part of what git records. It returns the number of files copied.
func copyTree(src, dst string) (int, error) {
	type job struct {
		from, to string
		mode     fs.FileMode
	}
	jobs := make(chan job, 256)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		count    int
	)
	for range 8 { // file copies are I/O bound; a few more workers than cores
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				err := copyFile(j.from, j.to, j.mode)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				count++
				mu.Unlock()
			}
		}()
	}
	walkErr := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			jobs <- job{path, to, mode}
			return nil
		default:
			return fmt.Errorf("%s: unexpected file type %v in module cache", path, d.Type())
		}
	})
	close(jobs)
	wg.Wait()
	if walkErr != nil {
		return count, walkErr
	}
	return count, firstErr
}

func copyFile(from, to string, mode fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	return out.Close()
}
