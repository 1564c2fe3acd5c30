;;; mercury-lsp-mode.el --- Mercury LSP ghost text in lsp-mode  -*- lexical-binding: t; -*-

;; Inline (ghost-text) completions from `mercury-lsp' through lsp-mode's inline completion
;; support (lsp-inline-completion.el, lsp-mode 9.0.1 or newer; emacs-lsp/lsp-mode#4623).
;;
;; What works:
;; - mercury-lsp runs as an add-on server beside the language's usual one (pyright, gopls, ...).
;; - `lsp-inline-completion-mode' is switched on by lsp-mode itself in buffers whose server
;;   advertises textDocument/inlineCompletion (mercury-lsp does): after `lsp-inline-completion-idle-delay'
;;   seconds without typing, the suggestion appears as an overlay at point.
;; - While it shows: RET accepts, TAB / C-n / M-n next candidate, C-p / M-p previous, C-g or ESC
;;   dismisses, any other key dismisses and runs as usual.  Accepting runs the item's command, so
;;   mercury-lsp counts accepts in its statistics.
;; - `M-x lsp-inline-completion-display' asks for a suggestion now.
;; What does not:
;; - No accept-word / accept-line (lsp-mode has no partial accept); mercury-lsp returns one candidate
;;   per request, so next/previous have nothing to cycle.
;; - The popup (company/corfu) gets nothing from mercury-lsp in these buffers: the server answers
;;   textDocument/completion only for clients without inline completion.
;; - lsp-mode 8.x (Debian bookworm's elpa-lsp-mode) has no inline completion: use eglot
;;   (mercury-eglot.el) or lsp-mode from MELPA.
;;
;; Use: put this file on `load-path' and (require 'mercury-lsp-mode), or paste it into init.el.
;; Then M-x lsp in a Python, JavaScript/TypeScript, Java, Go, Rust, C or C++ buffer.

;;; Code:

(require 'lsp-mode)

(defgroup mercury-lsp nil
  "Ghost-text completions from mercury-lsp."
  :group 'lsp-mode)

(defcustom mercury-lsp-command '("mercury-lsp")
  "The server executable and leading arguments, e.g. (\"/path/to/.venv/bin/mercury-lsp\")."
  :type '(repeat string))

(defcustom mercury-lsp-model "coder-mini"
  "Model name or folder passed as --model; nil lets the server choose."
  :type '(choice string (const nil)))

(defcustom mercury-lsp-multiline "auto"
  "Whether completions may span lines: \"auto\", \"always\" or \"never\"."
  :type '(choice (const "auto") (const "always") (const "never")))

(defcustom mercury-lsp-languages
  '("python" "javascript" "javascriptreact" "typescript" "typescriptreact" "java" "go" "rust" "c" "cpp")
  "Language ids (as in `lsp-language-id-configuration') that get completions."
  :type '(repeat string))

(defun mercury-lsp--command ()
  "The server's command line."
  (append mercury-lsp-command (when mercury-lsp-model (list "--model" mercury-lsp-model))))

(lsp-register-client
 (make-lsp-client
  :new-connection (lsp-stdio-connection #'mercury-lsp--command)
  :activation-fn (lambda (_file-name _mode) (member (lsp-buffer-language) mercury-lsp-languages))
  :add-on? t                             ; alongside the language's own server
  :priority -1
  :server-id 'mercury-lsp
  :initialization-options (lambda () (list :multiline mercury-lsp-multiline))))

;; lsp-mode waits 2 s of idle time by default; mercury-lsp debounces and cancels stale work itself.
(setq lsp-inline-completion-idle-delay 0.3)
(setq lsp-inline-completion-enable t)

(provide 'mercury-lsp-mode)
;;; mercury-lsp-mode.el ends here
