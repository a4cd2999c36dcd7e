package wire

import (
	"encoding/xml"
	"io"
)

// Delete is the DELETE Multiple Objects request body (cos-api.md §5.10).
type Delete struct {
	XMLName xml.Name       `xml:"Delete"`
	Quiet   bool           `xml:"Quiet"`
	Objects []DeleteObject `xml:"Object"`
}

// DeleteObject names one object to delete.
type DeleteObject struct {
	Key       string `xml:"Key"`
	VersionID string `xml:"VersionId,omitempty"`
}

// DecodeDelete reads a DELETE Multiple Objects body of at most DeleteBodyMax
// bytes: 1..DeleteObjectsMax objects, each with a non-empty key (keys are not
// otherwise validated here: an invalid key gets a per-key <Error> in the
// result). Violations are MalformedXML.
func DecodeDelete(r io.Reader) (*Delete, error) {
	var d Delete
	if err := decodeXML(r, DeleteBodyMax, &d); err != nil {
		return nil, err
	}
	if len(d.Objects) == 0 {
		return nil, NewError(ErrMalformedXML, "The XML you provided names no objects.")
	}
	if len(d.Objects) > DeleteObjectsMax {
		return nil, Errorf(ErrMalformedXML, "At most %d objects may be deleted in one request.", DeleteObjectsMax)
	}
	for _, o := range d.Objects {
		if o.Key == "" {
			return nil, NewError(ErrMalformedXML, "An object in the XML you provided has no key.")
		}
	}
	return &d, nil
}

// DeleteResult is the DELETE Multiple Objects response body. In quiet mode
// Deleted stays empty.
type DeleteResult struct {
	XMLName xml.Name       `xml:"DeleteResult"`
	Deleted []DeletedEntry `xml:"Deleted,omitempty"`
	Errors  []DeleteError  `xml:"Error,omitempty"`
}

// DeletedEntry reports one deleted object.
type DeletedEntry struct {
	Key                   string `xml:"Key"`
	VersionID             string `xml:"VersionId,omitempty"`
	DeleteMarker          bool   `xml:"DeleteMarker,omitempty"`
	DeleteMarkerVersionID string `xml:"DeleteMarkerVersionId,omitempty"`
}

// DeleteError reports one object that could not be deleted.
type DeleteError struct {
	Key       string `xml:"Key"`
	Code      Code   `xml:"Code"`
	Message   string `xml:"Message"`
	VersionID string `xml:"VersionId,omitempty"`
}
