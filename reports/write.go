package reports

import (
	"context"
	"io"
)

// WriteRunReports writes report.md to md and report.html to html: the
// bytes of WriteMarkdown and WriteHTML, with the tables both pages share
// built once.
func WriteRunReports(ctx context.Context, md, html io.Writer, r *Run, s *Summary) error {
	c := buildReportContent(r, s)
	if err := writeMarkdown(md, c); err != nil {
		return err
	}
	return writeHTML(ctx, html, r, s, c)
}
