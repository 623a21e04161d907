package series

import (
	"net/mail"
	"regexp"
	"strings"
)

// patchFile is what check needs from one git format-patch file.
type patchFile struct {
	Subject string
	// Files maps each path the patch touches (new name for renames) to
	// whether the patch creates it; deleted files are left out.
	Files map[string]bool
}

var bracketRE = regexp.MustCompile(`^\[[^\]]*\]\s*`)

// parsePatch reads the mail header and the diff --git sections of a patch.
func parsePatch(text string) (patchFile, error) {
	p := patchFile{Files: map[string]bool{}}
	msg, err := mail.ReadMessage(strings.NewReader(strings.TrimPrefix(skipFromLine(text), "\n")))
	if err != nil {
		return p, err
	}
	// Folded header lines are unfolded by net/mail; "[PATCH]" is the mail
	// prefix format-patch adds and git am strips.
	p.Subject = bracketRE.ReplaceAllString(strings.Join(strings.Fields(msg.Header.Get("Subject")), " "), "")

	var current string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "diff --git "):
			// "diff --git a/x b/x": the b/ side names the result.
			if i := strings.LastIndex(line, " b/"); i >= 0 {
				current = line[i+3:]
				p.Files[current] = false
			}
		case current == "":
		case strings.HasPrefix(line, "new file mode "):
			p.Files[current] = true
		case strings.HasPrefix(line, "deleted file mode "):
			delete(p.Files, current)
		}
	}
	return p, nil
}

// skipFromLine drops the mbox "From <hash> <date>" line before the header.
func skipFromLine(text string) string {
	if strings.HasPrefix(text, "From ") {
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			return text[i+1:]
		}
	}
	return text
}
