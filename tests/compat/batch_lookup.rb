# `puppet lookup` for several keys at once: stock `puppet lookup a b c` returns
# only the first key found, and each call costs ~2 s of Ruby start-up. This
# wraps Puppet::Pops::Lookup.lookup so that a list of keys yields
# {key => value} for every key, a miss or error as {"__error__" => message},
# then runs the unchanged `puppet lookup` application with ARGV.
require 'puppet/util/command_line'
require 'puppet'
require 'puppet/pops'

module Puppet::Pops::Lookup
  class << self
    alias_method :single_lookup, :lookup

    def lookup(name, value_type, default_value, has_default, merge, lookup_invocation)
      return single_lookup(name, value_type, default_value, has_default, merge, lookup_invocation) unless name.is_a?(Array)

      name.each_with_object({}) do |key, result|
        begin
          result[key] = single_lookup(key, value_type, default_value, has_default, merge, lookup_invocation)
        rescue StandardError => e
          result[key] = { '__error__' => e.message }
        end
      end
    end
  end
end

Puppet::Util::CommandLine.new('puppet', ['lookup'] + ARGV).execute
