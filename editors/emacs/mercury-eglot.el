;;; mercury-eglot.el --- Mercury LSP completions in eglot  -*- lexical-binding: t; -*-

;; Plain completion (the completion-at-point popup) from `mercury-lsp' with eglot, built into
;; Emacs 29 and newer.
;;
;; What works:
;; - M-x eglot in a buffer of the modes below starts mercury-lsp; completion-at-point (C-M-i, or
;;   company / corfu when installed) lists one item per request: the model's continuation, labelled
;;   with its first line.  Choosing it inserts the whole text, several lines included, through the
;;   item's text edit.
;; - With corfu or company auto-popup, suggestions come while typing.
;; What does not:
;; - No ghost text: eglot does not implement textDocument/inlineCompletion.  Use lsp-mode
;;   (mercury-lsp-mode.el) for that.
;; - eglot runs one server per buffer: these modes then get no other language server (pyright,
;;   gopls...).  Pick the modes you want mercury-lsp in, or use lsp-mode, which runs add-on servers.
;; - No accept-word / accept-line.
;;
;; Use: load this file, or paste the form into init.el and adjust the path and modes.

;;; Code:

(require 'eglot)

(add-to-list 'eglot-server-programs
             '((python-mode python-ts-mode
                js-mode js-ts-mode typescript-mode typescript-ts-mode
                go-mode go-ts-mode rust-mode rust-ts-mode
                c-mode c-ts-mode c++-mode c++-ts-mode java-mode java-ts-mode)
               . ("mercury-lsp" "--model" "coder-mini"
                  ;; "always" gives multi-line items in the popup; "never" keeps them to one line.
                  :initializationOptions (:multiline "auto"))))

(provide 'mercury-eglot)
;;; mercury-eglot.el ends here
