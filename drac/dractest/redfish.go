package dractest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

const (
	systemsPath  = "/redfish/v1/Systems"
	systemPath   = systemsPath + "/" + SystemID
	resetPath    = systemPath + "/Actions/ComputerSystem.Reset"
	sessionsPath = "/redfish/v1/SessionService/Sessions"
	maxRequest   = 64 << 10
)

type extendedInfo struct {
	Message                string
	MessageArgs            []string
	MessageArgsCount       int    `json:"MessageArgs@odata.count"`
	MessageID              string `json:"MessageId"`
	RelatedProperties      []string
	RelatedPropertiesCount int `json:"RelatedProperties@odata.count"`
	Resolution             string
	Severity               string
}

type errorBody struct {
	Error struct {
		Extended []extendedInfo `json:"@Message.ExtendedInfo"`
		Code     string         `json:"code"`
		Message  string         `json:"message"`
	} `json:"error"`
}

// writeError answers with an iDRAC-shaped Redfish error: a general error
// whose extended information says what happened.
func writeError(w http.ResponseWriter, status int, id, msg, resolution, severity string, args ...string) {
	var e errorBody
	e.Error.Code = "Base.1.5.GeneralError"
	e.Error.Message = "A general error has occurred. See ExtendedInfo for more information"
	if args == nil {
		args = []string{}
	}
	e.Error.Extended = []extendedInfo{{
		Message: msg, MessageArgs: args, MessageArgsCount: len(args), MessageID: id,
		RelatedProperties: []string{}, Resolution: resolution, Severity: severity,
	}}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// unauthorized answers 401 the way an iDRAC does for a missing or
// expired session or wrong Basic credentials (message reconstructed from
// Dell's message registry: IDRAC.2.1.SYS415).
func (b *BMC) unauthorized(w http.ResponseWriter) {
	b.mu.Lock()
	b.refused++
	b.mu.Unlock()
	w.Header().Set("WWW-Authenticate", `Basic realm="RedfishService"`)
	writeError(w, http.StatusUnauthorized, "IDRAC.2.1.SYS415",
		"Unable to complete the operation because an invalid username and/or password is entered, and therefore authentication failed.",
		"Enter valid user name and password and retry the operation.", "Warning")
}

func notFound(w http.ResponseWriter, path string) {
	writeError(w, http.StatusNotFound, "Base.1.5.ResourceMissingAtURI",
		fmt.Sprintf("The resource at the URI %s was not found.", path),
		"Place a valid resource at the URI or correct the URI and resubmit the request.", "Critical", path)
}

// authorized reports whether r carries a valid session token or valid
// Basic credentials.
func (b *BMC) authorized(r *http.Request) bool {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		b.mu.Lock()
		_, ok := b.tokens[tok]
		b.mu.Unlock()
		return ok
	}
	if u, p, ok := r.BasicAuth(); ok {
		return b.credentials(u, p)
	}
	return false
}

func (b *BMC) serveRedfish(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "/redfish/v1" && r.Method == http.MethodGet {
		// The service root answers without authentication.
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.id": "/redfish/v1", "Id": "RootService", "RedfishVersion": "1.11.0",
			"Systems":        map[string]string{"@odata.id": systemsPath},
			"SessionService": map[string]string{"@odata.id": "/redfish/v1/SessionService"},
		})
		return
	}
	if path == sessionsPath && r.Method == http.MethodPost {
		b.createSession(w, r)
		return
	}
	if !b.authorized(r) {
		b.unauthorized(w)
		return
	}
	switch {
	case path == systemsPath && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.id":           systemsPath,
			"Name":                "Computer System Collection",
			"Members":             []map[string]string{{"@odata.id": systemPath}},
			"Members@odata.count": 1,
		})
	case path == systemPath && r.Method == http.MethodGet:
		b.system(w)
	case path == resetPath && r.Method == http.MethodPost:
		b.reset(w, r)
	case strings.HasPrefix(path, sessionsPath+"/") && r.Method == http.MethodDelete:
		id := strings.TrimPrefix(path, sessionsPath+"/")
		b.mu.Lock()
		found := false
		for tok, sid := range b.tokens {
			if sid == id {
				delete(b.tokens, tok)
				found = true
			}
		}
		b.mu.Unlock()
		if !found {
			notFound(w, path)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	case path == systemsPath, path == systemPath, path == resetPath:
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, "Base.1.5.OperationNotAllowed",
			"The operation is not allowed on the resource.", "Use a supported method.", "Critical")
	default:
		notFound(w, path)
	}
}

func (b *BMC) createSession(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserName string
		Password string
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Base.1.5.MalformedJSON",
			"The request body submitted was malformed JSON and could not be parsed by the receiving service.",
			"Ensure that the request body is valid JSON and resubmit the request.", "Critical")
		return
	}
	if !b.credentials(req.UserName, req.Password) {
		b.unauthorized(w)
		return
	}
	tok := newToken()
	b.mu.Lock()
	b.nextID++
	id := strconv.Itoa(b.nextID)
	b.tokens[tok] = id
	b.logins++
	b.mu.Unlock()
	loc := sessionsPath + "/" + id
	w.Header().Set("X-Auth-Token", tok)
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusCreated, map[string]any{
		"@odata.id": loc, "Id": id, "Name": "User Session", "UserName": req.UserName,
	})
}

func (b *BMC) system(w http.ResponseWriter) {
	b.mu.Lock()
	state := "Off"
	if b.on {
		state = "On"
	}
	types := append([]string{}, b.resetTypes...)
	b.mu.Unlock()
	// The shape of a captured iDRAC 9 ComputerSystem, reduced.
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "/redfish/v1/$metadata#ComputerSystem.ComputerSystem",
		"@odata.id":      systemPath,
		"@odata.type":    "#ComputerSystem.v1_12_0.ComputerSystem",
		"Actions": map[string]any{
			"#ComputerSystem.Reset": map[string]any{
				"target":                            resetPath,
				"ResetType@Redfish.AllowableValues": types,
			},
		},
		"Id":           SystemID,
		"Manufacturer": "Dell Inc.",
		"Model":        "PowerEdge R6515",
		"PowerState":   state,
		"Status":       map[string]string{"Health": "OK", "HealthRollup": "OK", "State": "Enabled"},
	})
}

func (b *BMC) reset(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ResetType *string
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Base.1.5.MalformedJSON",
			"The request body submitted was malformed JSON and could not be parsed by the receiving service.",
			"Ensure that the request body is valid JSON and resubmit the request.", "Critical")
		return
	}
	if req.ResetType == nil {
		writeError(w, http.StatusBadRequest, "Base.1.5.ActionParameterMissing",
			"The action ComputerSystem.Reset requires the parameter ResetType to be present in the request body.",
			"Supply the action with the required parameter in the request body when the request is resubmitted.",
			"Critical", "ComputerSystem.Reset", "ResetType")
		return
	}
	t := *req.ResetType
	b.mu.Lock()
	allowed := false
	for _, v := range b.resetTypes {
		allowed = allowed || v == t
	}
	why := ""
	if allowed {
		why = b.transition(t)
	}
	b.mu.Unlock()
	switch {
	case !allowed:
		writeError(w, http.StatusBadRequest, "Base.1.5.ActionParameterValueNotInList",
			fmt.Sprintf("The value %s for the parameter ResetType in the action ComputerSystem.Reset is not in the list of acceptable values.", t),
			"Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.",
			"Warning", t, "ResetType", "ComputerSystem.Reset")
	case why == errAlreadyOn:
		// As captured from an iDRAC 9.
		writeError(w, http.StatusConflict, "IDRAC.2.1.PSU501", "Server is already powered ON.",
			"No response action is required.", "Informational")
	case why == errAlreadyOff:
		// Reconstructed: the counterpart of PSU501.
		writeError(w, http.StatusConflict, "IDRAC.2.1.PSU502", "Server is already powered OFF.",
			"No response action is required.", "Informational")
	case why == errPoweredOff:
		// Reconstructed: a restart of a system that is off is refused.
		writeError(w, http.StatusBadRequest, "IDRAC.2.1.PSU503",
			fmt.Sprintf("Unable to perform the %s operation because the server is powered off.", t),
			"Power on the server and retry the operation.", "Warning", t)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
